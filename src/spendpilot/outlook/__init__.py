"""Looking at spend over time: forecasts, anomalies, budgets and the notifications about them.

Modules (each documents its public API in its docstring):

* ``forecast``  — ``forecast_values`` / ``forecast_spend`` / ``forecast_tokens`` / ``backtest``
* ``anomalies`` — ``detect`` / ``find_anomalies`` → ``AnomalyReport``
* ``budgets``   — ``evaluate_budget`` / ``evaluate_budgets`` → ``BudgetStatus``
* ``notify``    — ``collect_alerts`` / ``Notifier`` / ``notify_after_sweep``
* ``settings``  — the ``[[budgets]]``, ``[aws_budgets]``, ``[anomalies]``, ``[notifications]`` models
"""
