"""Developer tools run against the local stack: README's screenshots (`make screenshots`) and the Lighthouse
audits (`make lighthouse`). Like localaws/, never imported by the app nor packaged for Lambda."""
