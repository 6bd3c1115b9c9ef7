/**
 * The API key, when the service has API_KEY set: asked for once, when a mutation is first
 * refused for want of it, and kept for this tab's session (sessionStorage).
 */
const STORAGE_KEY = 'lance-image-search.api-key';

class ApiKey {
  /** Set while the layout's dialog asks; it settles the promise with the key, or null when dismissed. */
  prompt = $state<{ retry: boolean; answer: (key: string | null) => void } | null>(null);

  get current(): string | null {
    return sessionStorage.getItem(STORAGE_KEY);
  }

  /** Asks the person for the key; `retry` when the previous one was refused. */
  ask(retry: boolean): Promise<string | null> {
    return new Promise((resolve) => {
      this.prompt = {
        retry,
        answer: (key) => {
          this.prompt = null;
          if (key) sessionStorage.setItem(STORAGE_KEY, key);
          resolve(key);
        },
      };
    });
  }
}

export const apiKey = new ApiKey();
