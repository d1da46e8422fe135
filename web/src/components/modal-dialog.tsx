import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Tab from the last control goes to the first, Shift+Tab from the first to the last: the page behind
 * is inert, but without this the browser would move focus out to its own toolbar.
 */
function keepTabInside(event: KeyboardEvent): void {
  if (event.key !== 'Tab') return;
  const dialog = event.currentTarget as HTMLDialogElement;
  const controls = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)];
  const first = controls[0];
  const last = controls.at(-1);
  if (!first || !last) return;
  const active = document.activeElement;
  if (event.shiftKey && (active === first || active === dialog)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && active === last) {
    event.preventDefault();
    first.focus();
  }
}

/**
 * A modal dialog on the native <dialog> opened with showModal(): the rest of the page is inert, so
 * focus stays in the dialog, and Escape closes it. On close, focus goes back to the element that
 * opened it. The content is rendered only while open, so nothing shown in it (a token's secret)
 * stays in the document after it closes.
 */
export function ModalDialog({
  open,
  onClose,
  titleId,
  children,
  wide = false,
}: {
  open: boolean;
  /** Called when the dialog closes itself (Escape); the owner then sets `open` to false. */
  onClose: () => void;
  /** The id of the heading inside that names the dialog. */
  titleId: string;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  function restoreFocus(): void {
    // The opener may have gone (a row re-rendered away): then focus stays where the browser puts it.
    const back = opener.current;
    opener.current = null;
    if (back?.isConnected) back.focus();
  }

  // A layout effect: the dialog opens or closes in the same task as the render that asks for it, so
  // there is no moment with its content gone but the page still inert and focus nowhere.
  useLayoutEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      element.showModal();
    } else if (!open && element.open) {
      element.close();
      restoreFocus();
    }
  }, [open]);

  // Closed by the browser (Escape): give focus back and tell the owner.
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    const closed = () => {
      restoreFocus();
      onCloseRef.current();
    };
    element.addEventListener('close', closed);
    return () => element.removeEventListener('close', closed);
  }, []);

  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      class={wide ? 'dialog-wide' : undefined}
      onKeyDown={keepTabInside}
    >
      {open && children}
    </dialog>
  );
}
