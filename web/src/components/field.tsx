import type { ComponentChildren } from 'preact';
import { fieldMessage } from '../api/field-errors';

/**
 * One form field: its label (for the control by id, so the control's name is the label alone),
 * the control, a hint and what is wrong with it. The control spreads `fieldAria(...)` to be
 * described by the hint or the error, and marked invalid with the error.
 */
export function Field({
  id,
  label,
  hint,
  error,
  wide = false,
  children,
}: {
  id: string;
  label: string;
  hint?: ComponentChildren;
  error?: string;
  wide?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class={wide ? 'field config-wide' : 'field'}>
      <label for={id}>{label}</label>
      {children}
      {hint !== undefined && (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error !== undefined && (
        <span class="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

export function fieldAria(id: string, error: string | undefined, hasHint = false) {
  const describedBy = error !== undefined ? `${id}-error` : hasHint ? `${id}-hint` : undefined;
  return {
    id,
    ...(error !== undefined && { 'aria-invalid': true as const }),
    ...(describedBy && { 'aria-describedby': describedBy }),
  };
}

/** The API's (or the form's) message for a field, or for anything under it. */
export function errorOf(fields: Record<string, string>, field: string): string | undefined {
  return fieldMessage(fields, field);
}
