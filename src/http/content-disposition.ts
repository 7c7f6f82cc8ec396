// File names in headers are sanitised by a neutral module that storage uses too.
export {
  asciiFallback,
  contentDisposition,
  encodeRfc5987,
  sanitizeFilename,
} from '../content-disposition.js';
