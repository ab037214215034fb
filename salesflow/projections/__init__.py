"""Time-series revenue forecasts with a rolling-origin backtest (收入预测) (issue 11)."""
