"""What the tests share, written once.

- ``stack``: the emulated AWS account, built one way, per test (tests/conftest.py's fixtures), per module
  (``running_stack``) or as a subprocess (``local_stack``);
- ``forms``: the seed accounts, signing a test client in through the hosted login, reading a page's form back;
- ``records``: a valid record form, and making a record through the pages;
- ``state``: what the emulated account holds, read from moto directly;
- ``sending``: what a browser or an attacker sends, surrogates included, and the error page that comes back;
- ``faults`` and ``fuzzing``: the harnesses of the fault and the property suites in tests/security/
  (test_*_faults.py, test_*_fuzzing.py).
"""
