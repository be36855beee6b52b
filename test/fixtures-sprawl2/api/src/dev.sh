#!/bin/sh
echo "api (dev) on :8000, inspector on :9229"
exec sleep 86400
