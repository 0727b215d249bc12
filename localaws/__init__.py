"""The embedded local AWS: development and test tooling only.

It starts moto's server on loopback (unless ``AWS_ENDPOINT_URL`` already names an endpoint), provisions
every resource the app needs, seeds accounts and sample data, and serves the app against it. The app never
imports this package and the Lambda package leaves it out; the app sees only environment variables, exactly
as it does on AWS.
"""
