/** dockyard's library API. */
export { loadProject, findDefaultFiles, checkConsistency, serviceGraph, DEFAULT_FILES } from './load/index.js';
export type { LoadOptions } from './load/index.js';
export { parseDotenv } from './load/dotenv.js';
export { substitute } from './load/interpolate.js';
export { mergeTrees } from './load/merge.js';
export { parseDuration, formatDuration, parseSize, shellSplit } from './load/units.js';
export { projectModel, serviceConfigHash, serviceModel } from './model/serialize.js';
export { LABEL, imageName, containerName } from './model/names.js';
export type * from './model/project.js';
export { Dag } from './graph/dag.js';
export { DockyardError } from './errors.js';
