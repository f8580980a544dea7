// ECharts' core with only the charts and components Huhua's pages draw, as the global `echarts`
// (the dashboard, the monthly oversight, the schedules' and the benchmarks' charts).
import * as echarts from 'echarts/core';
import { BarChart, BoxplotChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import {
  DatasetComponent, DataZoomComponent, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent,
  MarkPointComponent, TitleComponent, TooltipComponent, TransformComponent, VisualMapComponent,
} from 'echarts/components';
import { LabelLayout, UniversalTransition } from 'echarts/features';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, BoxplotChart, LineChart, PieChart, ScatterChart, DatasetComponent, DataZoomComponent,
  GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, MarkPointComponent, TitleComponent,
  TooltipComponent, TransformComponent, VisualMapComponent, LabelLayout, UniversalTransition, CanvasRenderer]);

window.echarts = echarts;
