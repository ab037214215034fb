"""Most likely achievable revenue (最可能实现的收入): Monte Carlo and calibration (issue 11)."""
