import { fieldMessage } from '../api/field-errors';

/**
 * What is wrong with one field, next to it: `invalid(...)` gives the input its aria-invalid and
 * aria-describedby, `<FieldError>` the message they point at.
 */
export function invalid(fields: Record<string, string>, field: string, formId: string) {
  const message = fieldMessage(fields, field);
  return message === undefined
    ? {}
    : { 'aria-invalid': true as const, 'aria-describedby': `${formId}-${field}-error` };
}

export function FieldError({
  fields,
  field,
  formId,
}: {
  fields: Record<string, string>;
  field: string;
  formId: string;
}) {
  const message = fieldMessage(fields, field);
  if (message === undefined) return null;
  return (
    <span class="field-error" id={`${formId}-${field}-error`}>
      {message}
    </span>
  );
}
