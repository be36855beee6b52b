#!/bin/sh
echo "worker on queues $QUEUES"
exec sleep 86400
