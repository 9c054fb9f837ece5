// A time series chart with uPlot.
import 'uplot/dist/uPlot.min.css'
import uPlot from 'uplot'

export interface Series {
  label: string
  unit: string
  points: Array<[number, number]> // [seconds since epoch, value]
  // from and to: the range shown, in seconds since the epoch.
  from: number
  to: number
}

export function drawChart(el: HTMLElement, s: Series): uPlot {
  const xs = s.points.map((p) => p[0])
  const ys = s.points.map((p) => p[1])
  const width = Math.max(320, el.clientWidth || 640)
  return new uPlot(
    {
      width,
      height: 240,
      title: `${s.label} (${s.unit})`,
      scales: { x: { time: true, range: () => [s.from, s.to] } },
      series: [{}, { label: s.label, stroke: '#1f6feb', width: 2, points: { show: true, size: 5 } }],
      axes: [{}, { label: s.unit }],
    },
    [xs, ys],
    el,
  )
}
