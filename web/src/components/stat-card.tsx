import { type Certainty, formatCount } from '../lib/format';

const HINTS: Record<Certainty, string | undefined> = {
  exact: undefined,
  lower_bound: 'At least this many: counting stopped here',
  estimated: "An estimate from the database's statistics",
};

export function StatCard(props: { label: string; value: number; certainty?: Certainty; stat: string }) {
  const certainty = props.certainty ?? 'exact';
  return (
    <div class="stat" data-stat={props.stat}>
      <dt>{props.label}</dt>
      <dd title={HINTS[certainty]} data-certainty={certainty}>
        {formatCount(props.value, certainty)}
      </dd>
    </div>
  );
}
