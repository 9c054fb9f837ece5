// A time series chart with uPlot: a line through the averages of a
// series' buckets in a band from their minimum to their maximum.
import 'uplot/dist/uPlot.min.css'
import uPlot from 'uplot'

export interface SeriesPoint {
  t: number // the bucket's start, in seconds since the epoch
  count: number
  avg: number
  min: number
  max: number
  last: number
}

export interface Series {
  label: string
  unit: string
  points: SeriesPoint[]
  // from and to: the range shown, in seconds since the epoch.
  from: number
  to: number
}

export function drawChart(el: HTMLElement, s: Series): uPlot {
  const width = Math.max(320, el.clientWidth || 640)
  const edge = 'rgba(31, 111, 235, 0.45)'
  return new uPlot(
    {
      width,
      height: 240,
      title: `${s.label} (${s.unit})`,
      scales: { x: { time: true, range: () => [s.from, s.to] } },
      series: [
        {},
        { label: 'Average', stroke: '#1f6feb', width: 2, points: { show: true, size: 5 } },
        { label: 'Minimum', stroke: edge, width: 1, points: { show: false } },
        { label: 'Maximum', stroke: edge, width: 1, points: { show: false } },
      ],
      bands: [{ series: [3, 2], fill: 'rgba(31, 111, 235, 0.12)' }],
      axes: [{}, { label: s.unit }],
    },
    [s.points.map((p) => p.t), s.points.map((p) => p.avg), s.points.map((p) => p.min), s.points.map((p) => p.max)],
    el,
  )
}
