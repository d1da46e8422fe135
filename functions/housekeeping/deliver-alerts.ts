import { sendDueDeliveries } from '../alerts/deliver';
import type { HousekeepingStep } from './step';

/** Sends the alert notifications that are due, new ones and retries (functions/alerts/deliver.ts). */
export const deliverAlerts: HousekeepingStep = {
  name: 'alert deliveries',
  async run({ db, env }) {
    const { sent, retrying, failed } = await sendDueDeliveries(db, env);
    return `${sent} sent, ${retrying} to retry, ${failed} given up`;
  },
};
