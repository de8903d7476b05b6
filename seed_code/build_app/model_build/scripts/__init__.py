"""Job scripts. Each file is uploaded to S3 on its own and run in a container."""
