#!/bin/sh
echo "api on :8000"
exec sleep 86400
