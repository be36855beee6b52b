#!/bin/sh
echo "tests against $API_URL"
