"""Sales forecaster: Holt-Winters, seasonal naive and linear-trend forecasts in numpy,
following the model image contract."""
