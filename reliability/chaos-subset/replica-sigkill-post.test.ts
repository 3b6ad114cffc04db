// One scenario of the chaos subset (see ../chaos-subset.ts), in its own file so it has the runner's whole per-file time.
import { subsetTest } from '../chaos-subset';

subsetTest('replica-sigkill-post');
