"""Schedule expressions, time zones and S3 locations: input -> accepted or the reason why not."""

import pytest

from batch_deploy.s3_uris import S3Uri, bucket_problem, output_overlap_problem, parse_s3_uri
from batch_deploy.schedules import schedule_expression_problem, timezone_problem


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 6 * * ? *)",
        "cron(15 10 ? * MON-FRI *)",
        "cron(0/15 * * * ? *)",
        "cron(0 8 1 JAN,JUL ? 2030)",
        "cron(0 18 L * ? *)",
        "cron(0 9 ? * 2#1 *)",
        "at(2030-01-31T23:59:00)",
    ],
)
def test_valid_schedule_expressions(expression):
    assert schedule_expression_problem(expression) is None


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("rate(1 minutes)", "must use the singular unit with 1: 'rate(1 minute)'"),
        ("rate(5 hour)", "must use the plural unit above 1: 'rate(5 hours)'"),
        ("rate(0 days)", "needs a rate value of at least 1"),
        ("rate(1 week)", "must be 'rate(<n> minute(s)|hour(s)|day(s))'"),
        ("rate(-1 days)", "must be 'rate(<n> minute(s)|hour(s)|day(s))'"),
        ("rate(5  minutes)", "must be 'rate(<n> minute(s)|hour(s)|day(s))'"),
        ("cron(0 6 * * ?)", "needs 6 fields (minutes hours day-of-month month day-of-week year), got 5"),
        ("cron(0 6 * * * *)", "must use '?' in exactly one of the day-of-month and day-of-week fields"),
        ("cron(0 6 ? * ? *)", "must use '?' in exactly one of the day-of-month and day-of-week fields"),
        ("cron(x 6 * * ? *)", "has an invalid minutes field 'x'"),
        ("cron(0 6 * FOO ? *)", "has an invalid month field 'FOO'"),
        ("cron(0 6 ? * FUNDAY *)", "has an invalid day-of-week field 'FUNDAY'"),
        ("at(2030-02-30T00:00:00)", "has no such date and time '2030-02-30T00:00:00'"),
        ("at(2030-01-31 23:59:00)", "must be 'rate(<n> minute(s)|hour(s)|day(s))'"),
        ("every day", "must be 'rate(<n> minute(s)|hour(s)|day(s))', 'cron(<6 fields>)' or 'at("),
        (5, "must be a string: rate(...), cron(...) or at(...)"),
        ("cron(" + "0 " * 200 + ")", "must be at most 256 characters"),
    ],
)
def test_invalid_schedule_expressions(expression, reason):
    problem = schedule_expression_problem(expression)
    assert problem is not None and problem.startswith(reason), problem


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5"])
def test_valid_time_zones(zone):
    assert timezone_problem(zone) is None


@pytest.mark.parametrize("zone", ["", "Europe/", "/Paris", "Europe Paris", "UTC${AWS::Region}", 3, "A" * 51])
def test_invalid_time_zones(zone):
    assert "IANA time zone name" in timezone_problem(zone)


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("s3://mlops-batch-data/input/", S3Uri("mlops-batch-data", "input/")),
        ("s3://my.bucket-1/day=2024-01-01/part", S3Uri("my.bucket-1", "day=2024-01-01/part")),
        ("s3://abc/x", S3Uri("abc", "x")),
    ],
)
def test_valid_s3_uris(uri, expected):
    assert parse_s3_uri(uri) == (expected, None)
    assert str(expected) == uri


@pytest.mark.parametrize(
    "uri, reason",
    [
        ("s3://bucket", "must look like 's3://bucket/prefix'"),
        ("s3://bucket/", "must look like 's3://bucket/prefix'"),
        ("https://bucket/x", "must look like 's3://bucket/prefix'"),
        ("s3:///x", "bucket name '' must be 3-63"),
        ("s3://ab/x", "bucket name 'ab' must be 3-63"),
        ("s3://My-Bucket/x", "bucket name 'My-Bucket' must be 3-63"),
        ("s3://-bucket/x", "bucket name '-bucket' must be 3-63"),
        ("s3://bucket-/x", "bucket name 'bucket-' must be 3-63"),
        ("s3://my_bucket/x", "bucket name 'my_bucket' must be 3-63"),
        ("s3://" + "b" * 64 + "/x", "bucket name '" + "b" * 64 + "' must be 3-63"),
        ("s3://my..bucket/x", "bucket name 'my..bucket' must not contain two adjacent dots"),
        ("s3://192.168.1.1/x", "bucket name '192.168.1.1' must not look like an IP address"),
        ("s3://bucket//x", "key prefix '/x' may use only"),
        ("s3://bucket/a//b", "key prefix 'a//b' may use only"),
        ("s3://bucket/my data", "key prefix 'my data' may use only"),
        ("s3://bucket/${AWS::AccountId}", "key prefix '${AWS::AccountId}' may use only"),
        ("s3://bucket/" + "k" * 1020, "must be at most 1024 characters"),
        (None, "must be a string"),
    ],
)
def test_invalid_s3_uris(uri, reason):
    parsed, problem = parse_s3_uri(uri)
    assert parsed is None and problem.startswith(reason), problem


def test_bucket_names_of_63_characters_are_fine():
    assert bucket_problem("b" * 63) is None


@pytest.mark.parametrize(
    "input_uri, output_uri, reason",
    [
        ("s3://data/in/", "s3://data/out/", None),
        ("s3://data/in/", "s3://other/in/", None),
        ("s3://data/in/", "s3://data/in-results/", None),  # "in-results/" does not start with "in/"
        ("s3://data/in/", "s3://data/in/", "must differ from input_uri"),
        ("s3://data/in/", "s3://data/in/out/", "must not start with the input prefix 's3://data/in/'"),
        ("s3://data/in", "s3://data/in-results", "must not start with the input prefix 's3://data/in'"),
    ],
)
def test_output_may_not_lie_under_the_input_prefix(input_uri, output_uri, reason):
    problem = output_overlap_problem(parse_s3_uri(input_uri)[0], parse_s3_uri(output_uri)[0])
    if reason is None:
        assert problem is None
    else:
        assert problem.startswith(reason), problem
