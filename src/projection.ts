import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { Column } from './services/catalog/image-record.js';

/** The Lance columns each Image field needs; url and thumbnailUrl derive from others. */
const IMAGE_FIELD_COLUMNS: Record<string, Column[]> = {
  id: ['id'],
  key: ['key'],
  url: ['key'],
  thumbnailUrl: ['id'],
  filename: ['filename'],
  contentType: ['content_type'],
  size: ['size'],
  width: ['width'],
  height: ['height'],
  createdAt: ['created_at'],
  vector: ['vector'],
};

/**
 * The Lance columns to read for the Image objects found at `path` under the current field
 * (e.g. `['hits', 'image']` inside `search`), from the client's selection including fragments.
 * `id` is always read: it is the key that results are matched by.
 */
export function imageColumns(info: GraphQLResolveInfo, path: readonly string[] = []): Column[] {
  let nodes: readonly FieldNode[] = info.fieldNodes;
  for (const name of path) {
    nodes = nodes.flatMap((node) => fieldsOf(node.selectionSet, info).filter((f) => f.name.value === name));
  }
  const columns = new Set<Column>(['id']);
  for (const field of nodes.flatMap((node) => fieldsOf(node.selectionSet, info))) {
    for (const column of IMAGE_FIELD_COLUMNS[field.name.value] ?? []) columns.add(column);
  }
  return [...columns];
}

/** The fields of a selection set, with inline and named fragments flattened. */
function fieldsOf(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo): FieldNode[] {
  if (!selectionSet) return [];
  return selectionSet.selections.flatMap((selection) => {
    switch (selection.kind) {
      case Kind.FIELD:
        return [selection];
      case Kind.INLINE_FRAGMENT:
        return fieldsOf(selection.selectionSet, info);
      case Kind.FRAGMENT_SPREAD:
        return fieldsOf(info.fragments[selection.name.value]?.selectionSet, info);
    }
  });
}
