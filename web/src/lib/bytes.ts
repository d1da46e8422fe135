const units = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** "512 B", "48.3 MB" (powers of 1,024, as process memory is counted); null reads "–". */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : oneDecimal.format(value)} ${units[unit]}`;
}
