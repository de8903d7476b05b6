"""XGBoost hyperparameters shared by the pipeline and the local smoke test.

Names follow the SageMaker built-in XGBoost algorithm (``num_round`` is the
number of boosting rounds; everything else is passed to ``xgboost.train``).
"""

XGBOOST_FRAMEWORK_VERSION = "1.7-1"
SKLEARN_FRAMEWORK_VERSION = "1.2-1"

HYPERPARAMETERS = {
    "objective": "reg:squarederror",
    "eval_metric": "rmse",
    "num_round": 100,
    "early_stopping_rounds": 10,
    "max_depth": 4,
    "eta": 0.1,
    "gamma": 1,
    "min_child_weight": 4,
    "subsample": 0.8,
    "seed": 7,
}
