"""Flask extensions, created unbound here and bound to the app in the factory."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
