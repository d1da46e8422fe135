import { toLocalInput } from '../lib/job-filters';

/**
 * The filter fields the Jobs and Failed lists share: queue, connection, name, a time range, the
 * order, and Apply / Clear. Each page names its own range fields (`from`/`to` for when jobs were
 * queued, `failedAfter`/`failedBefore` for when they failed), as its API does.
 */
export function SharedFilterFields({
  values,
  range,
  clearHref,
}: {
  values: {
    queue?: string | undefined;
    connection?: string | undefined;
    name?: string | undefined;
    sort?: string | undefined;
  };
  range: {
    from: { name: string; label: string; value: string | undefined };
    to: { name: string; label: string; value: string | undefined };
  };
  clearHref: string;
}) {
  return (
    <>
      <label>
        Queue
        <input name="queue" defaultValue={values.queue ?? ''} />
      </label>
      <label>
        Connection
        <input name="connection" defaultValue={values.connection ?? ''} />
      </label>
      <label>
        Name
        <input name="name" defaultValue={values.name ?? ''} />
      </label>
      {[range.from, range.to].map((field) => (
        <label key={field.name}>
          {field.label}
          <input name={field.name} type="datetime-local" defaultValue={toLocalInput(field.value)} />
        </label>
      ))}
      <label>
        Order
        {/* `selected` on the options: Preact ignores `defaultValue` on a select. */}
        <select name="sort">
          <option value="newest" selected={values.sort !== 'oldest'}>
            newest first
          </option>
          <option value="oldest" selected={values.sort === 'oldest'}>
            oldest first
          </option>
        </select>
      </label>
      <div class="filter-actions">
        <button type="submit" class="button-primary">
          Apply
        </button>
        <a href={clearHref} class="button">
          Clear
        </a>
      </div>
    </>
  );
}
