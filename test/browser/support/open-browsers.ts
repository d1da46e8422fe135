/**
 * LOCAL TEST TOOLING: the Chromiums the current test file launched, for the failure report
 * (failure-report.ts). Kept apart from chromium.ts so that the report's setup file costs the other
 * test files no Playwright import.
 */
export interface FailureDiagnosis {
  /** One line per open page (its URL) and the page's recent errors, failed requests and 4xx/5xx. */
  describe(): string;
  /** Screenshots every open page into `directory`; the paths written. */
  screenshot(directory: string, prefix: string): Promise<string[]>;
}

export const openBrowsers = new Set<FailureDiagnosis>();
