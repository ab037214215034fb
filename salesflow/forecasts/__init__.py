"""Forecast submissions (销售预测), roll-up, adjustments, accuracy, pipeline waterfall (issue 11)."""
