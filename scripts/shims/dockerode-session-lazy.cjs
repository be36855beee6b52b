// Bundling shim: dockerode loads its BuildKit session support (gRPC, protobuf) at load time, but
// uses it only for `version: "2"` builds, which dockyard never asks for (it uses the classic
// builder). Loading it costs ~25 ms at every start, so it is loaded on first use instead.
'use strict';
module.exports = function withSession(...args) {
  // eslint-disable-next-line global-require
  return require('dockerode/lib/session.js')(...args);
};
