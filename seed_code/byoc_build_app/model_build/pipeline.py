"""The SageMaker Pipeline, with every step in the project's own image.

preprocess -> train -> evaluate -> check MSE -> register (or fail)

The image (``ECR_REPOSITORY_URI:<commit>``, built by ``docker-build.sh``)
holds the ``abalone_model`` package; each step runs one of its commands:
processing jobs override the entrypoint with
``python3 -m abalone_model preprocess|evaluate``, training runs
``docker run IMAGE train`` and the registered model serves with
``docker run IMAGE serve``. No code is uploaded: the image is the code.

Built with the SageMaker Python SDK v2 ``sagemaker.workflow`` API; building
the pipeline and rendering its definition makes no AWS call.
"""

from __future__ import annotations

import os

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

import boto3  # noqa: E402
from sagemaker.estimator import Estimator  # noqa: E402
from sagemaker.inputs import TrainingInput  # noqa: E402
from sagemaker.model import Model  # noqa: E402
from sagemaker.model_metrics import MetricsSource, ModelMetrics  # noqa: E402
from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor  # noqa: E402
from sagemaker.workflow.condition_step import ConditionStep  # noqa: E402
from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo  # noqa: E402
from sagemaker.workflow.execution_variables import ExecutionVariables  # noqa: E402
from sagemaker.workflow.fail_step import FailStep  # noqa: E402
from sagemaker.workflow.functions import Join, JsonGet  # noqa: E402
from sagemaker.workflow.model_step import ModelStep  # noqa: E402
from sagemaker.workflow.parameters import ParameterFloat, ParameterString  # noqa: E402
from sagemaker.workflow.pipeline import Pipeline  # noqa: E402
from sagemaker.workflow.pipeline_context import PipelineSession  # noqa: E402
from sagemaker.workflow.properties import PropertyFile  # noqa: E402
from sagemaker.workflow.steps import ProcessingStep, TrainingStep  # noqa: E402

from .settings import Settings  # noqa: E402

PREPROCESS_STEP = "PreprocessAbaloneData"
TRAIN_STEP = "TrainAbaloneModel"
EVALUATE_STEP = "EvaluateAbaloneModel"
CONDITION_STEP = "CheckMseEvaluation"
REGISTER_STEP = "RegisterAbaloneModel"
FAIL_STEP = "MseAboveThreshold"

DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
DEFAULT_MSE_THRESHOLD = 6.0
PENDING_MANUAL_APPROVAL = "PendingManualApproval"
INFERENCE_INSTANCE_TYPES = ["ml.t2.medium", "ml.m5.large", "ml.m5.xlarge"]
TRANSFORM_INSTANCE_TYPES = ["ml.m5.large", "ml.m5.xlarge"]

# Passed to the training container as strings; see abalone_model/train.py.
HYPERPARAMETERS = {
    "max_iter": 150,
    "learning_rate": 0.03,
    "max_depth": 2,
    "min_samples_leaf": 30,
    "l2_regularization": 1.0,
    "random_state": 7,
}
# The training script prints "train:rmse=..." and "validation:rmse=...".
METRIC_DEFINITIONS = [
    {"Name": "train:rmse", "Regex": r"train:rmse=([0-9.]+)"},
    {"Name": "validation:rmse", "Regex": r"validation:rmse=([0-9.]+)"},
]

PROCESSING_ROOT = "/opt/ml/processing"


def make_session(settings: Settings) -> PipelineSession:
    """PipelineSession for the project's region and bucket (no AWS call)."""
    return PipelineSession(
        boto_session=boto3.Session(region_name=settings.region),
        default_bucket=settings.bucket,
    )


def _execution_uri(settings: Settings, name: str) -> Join:
    return Join(
        on="/",
        values=[settings.s3_uri(), ExecutionVariables.PIPELINE_EXECUTION_ID, name],
    )


def _module_entrypoint(command: str) -> list:
    return ["python3", "-m", "abalone_model", command]


def get_pipeline(
    settings: Settings,
    default_input_data_uri: str,
    sagemaker_session: PipelineSession | None = None,
) -> Pipeline:
    session = sagemaker_session or make_session(settings)
    image = settings.image_uri
    kms = settings.kms_key_id
    role = settings.role_arn

    processing_instance_type = ParameterString(
        name="ProcessingInstanceType", default_value=DEFAULT_INSTANCE_TYPE
    )
    training_instance_type = ParameterString(
        name="TrainingInstanceType", default_value=DEFAULT_INSTANCE_TYPE
    )
    input_data = ParameterString(name="InputDataUrl", default_value=default_input_data_uri)
    mse_threshold = ParameterFloat(name="MseThreshold", default_value=DEFAULT_MSE_THRESHOLD)
    approval_status = ParameterString(
        name="ModelApprovalStatus", default_value=PENDING_MANUAL_APPROVAL
    )

    # 1. Preprocess in the project image.
    preprocessor = Processor(
        image_uri=image,
        entrypoint=_module_entrypoint("preprocess"),
        role=role,
        instance_type=processing_instance_type,
        instance_count=1,
        output_kms_key=kms,
        sagemaker_session=session,
    )
    preprocess_args = preprocessor.run(
        inputs=[ProcessingInput(source=input_data, destination=f"{PROCESSING_ROOT}/input")],
        outputs=[
            ProcessingOutput(
                output_name=split,
                source=f"{PROCESSING_ROOT}/{split}",
                destination=_execution_uri(settings, split),
            )
            for split in ("train", "validation", "test")
        ],
        arguments=["--input", f"{PROCESSING_ROOT}/input", "--output-dir", PROCESSING_ROOT],
    )
    step_preprocess = ProcessingStep(name=PREPROCESS_STEP, step_args=preprocess_args)
    preprocess_outputs = step_preprocess.properties.ProcessingOutputConfig.Outputs

    # 2. Train: SageMaker runs ``docker run IMAGE train``.
    estimator = Estimator(
        image_uri=image,
        role=role,
        instance_type=training_instance_type,
        instance_count=1,
        output_path=_execution_uri(settings, "model"),
        output_kms_key=kms,
        hyperparameters=dict(HYPERPARAMETERS),
        metric_definitions=METRIC_DEFINITIONS,
        disable_profiler=True,
        debugger_hook_config=False,
        sagemaker_session=session,
    )
    train_args = estimator.fit(
        inputs={
            channel: TrainingInput(
                s3_data=preprocess_outputs[channel].S3Output.S3Uri, content_type="text/csv"
            )
            for channel in ("train", "validation")
        }
    )
    step_train = TrainingStep(name=TRAIN_STEP, step_args=train_args)
    model_artifacts = step_train.properties.ModelArtifacts.S3ModelArtifacts

    # 3. Evaluate in the project image.
    evaluator = Processor(
        image_uri=image,
        entrypoint=_module_entrypoint("evaluate"),
        role=role,
        instance_type=processing_instance_type,
        instance_count=1,
        output_kms_key=kms,
        sagemaker_session=session,
    )
    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluate_args = evaluator.run(
        inputs=[
            ProcessingInput(source=model_artifacts, destination=f"{PROCESSING_ROOT}/model"),
            ProcessingInput(
                source=preprocess_outputs["test"].S3Output.S3Uri,
                destination=f"{PROCESSING_ROOT}/test",
            ),
        ],
        outputs=[
            ProcessingOutput(
                output_name="evaluation",
                source=f"{PROCESSING_ROOT}/evaluation",
                destination=_execution_uri(settings, "evaluation"),
            )
        ],
        arguments=[
            "--model-dir", f"{PROCESSING_ROOT}/model",
            "--test-dir", f"{PROCESSING_ROOT}/test",
            "--output-dir", f"{PROCESSING_ROOT}/evaluation",
        ],
    )
    step_evaluate = ProcessingStep(
        name=EVALUATE_STEP, step_args=evaluate_args, property_files=[evaluation_report]
    )

    # 4. Register (PendingManualApproval) with the metrics; serves with ``serve``.
    model_metrics = ModelMetrics(
        model_statistics=MetricsSource(
            s3_uri=Join(
                on="/",
                values=[
                    step_evaluate.properties.ProcessingOutputConfig.Outputs[
                        "evaluation"
                    ].S3Output.S3Uri,
                    "evaluation.json",
                ],
            ),
            content_type="application/json",
        )
    )
    model = Model(
        image_uri=image,
        model_data=model_artifacts,
        role=role,
        sagemaker_session=session,
    )
    register_args = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=INFERENCE_INSTANCE_TYPES,
        transform_instances=TRANSFORM_INSTANCE_TYPES,
        model_package_group_name=settings.model_package_group_name,
        approval_status=approval_status,
        model_metrics=model_metrics,
        description=(
            f"Abalone model (own container {settings.image_uri}) "
            f"for SageMaker project {settings.project_name}"
        ),
    )
    step_register = ModelStep(name=REGISTER_STEP, step_args=register_args)

    # 5. Register only when the test MSE is at or below the threshold.
    step_fail = FailStep(
        name=FAIL_STEP,
        error_message=Join(on=" ", values=["Test MSE is above the MseThreshold of", mse_threshold]),
    )
    step_condition = ConditionStep(
        name=CONDITION_STEP,
        conditions=[
            ConditionLessThanOrEqualTo(
                left=JsonGet(
                    step_name=step_evaluate.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.mse.value",
                ),
                right=mse_threshold,
            )
        ],
        if_steps=[step_register],
        else_steps=[step_fail],
    )

    return Pipeline(
        name=settings.pipeline_name,
        parameters=[
            processing_instance_type,
            training_instance_type,
            input_data,
            mse_threshold,
            approval_status,
        ],
        steps=[step_preprocess, step_train, step_evaluate, step_condition],
        sagemaker_session=session,
    )
