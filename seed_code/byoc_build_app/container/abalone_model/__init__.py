"""Code that runs inside the project's own container image.

Entry points (``python -m abalone_model <command>``):

* ``train``      SageMaker training job (``docker run IMAGE train``)
* ``serve``      SageMaker endpoint / batch transform (``docker run IMAGE serve``)
* ``preprocess`` SageMaker processing job: split, one-hot encode, scale
* ``evaluate``   SageMaker processing job: metrics JSON for the test split
"""

__version__ = "1.0.0"
