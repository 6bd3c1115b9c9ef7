import type { ValidationRule } from 'graphql';
import { unsupportedOperation } from './errors.js';

/**
 * The spec's "Operation Type Existence" rule, which graphql-js 16 does not run: an operation of a
 * type the schema lacks (a subscription) is refused while validating, as the client's mistake,
 * instead of failing inside execution as an internal error.
 */
export const knownOperationTypes: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation)) context.reportError(unsupportedOperation(node));
  },
});
