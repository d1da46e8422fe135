import { computed } from '@preact/signals';
import { me } from './session';

/**
 * Whether the signed-in actor may act (operator or admin) rather than only read. It decides which
 * buttons are shown; the API checks every request on its own and stays the authority.
 */
export const canOperate = computed(() => {
  const role = me.value?.actor.role;
  return role === 'operator' || role === 'admin';
});

/** Whether the signed-in actor is an admin: Settings (users, tokens) is shown only then. */
export const isAdmin = computed(() => me.value?.actor.role === 'admin');
