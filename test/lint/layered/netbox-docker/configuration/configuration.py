import os
ALLOWED_HOSTS = ["*"]
