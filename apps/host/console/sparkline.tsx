const WIDTH = 240;
const HEIGHT = 36;

/**
 * A line over evenly spaced values (one per minute), scaled to `max` (default: the largest value), with
 * `label` read out in place of the picture.
 */
export function Sparkline(props: {
  values: number[];
  label: string;
  max?: number;
  kind: "throughput" | "failures";
}) {
  const { values } = props;
  const max = Math.max(props.max ?? 0, ...values, 1);
  const step = values.length > 1 ? WIDTH / (values.length - 1) : WIDTH;
  const points = values
    .map((value, i) => `${(i * step).toFixed(1)},${(HEIGHT - 1 - (value / max) * (HEIGHT - 2)).toFixed(1)}`)
    .join(" ");
  return (
    <svg
      class={`spark ${props.kind}`}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width={WIDTH}
      height={HEIGHT}
      role="img"
      aria-label={props.label}
      preserveAspectRatio="none"
    >
      <title>{props.label}</title>
      <line x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} class="axis" />
      <polyline points={points} />
    </svg>
  );
}
