"""Win/loss drivers (赢单因素) with confidence intervals (issue 11)."""
