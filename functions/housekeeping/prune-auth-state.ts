import { pruneAuthState } from '../auth/login-rate-limit';
import type { HousekeepingStep } from './step';

/** Ended login rate-limit windows and sessions expired more than a day ago (functions/auth). */
export const pruneAuth: HousekeepingStep = {
  name: 'auth state',
  async run({ db }) {
    await pruneAuthState(db);
    return 'ok';
  },
};
