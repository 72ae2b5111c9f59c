"""Data preparation: reading audio and line images, feature extraction, augmentation, manifests.

Import the submodules you need (``data_prep.log_mel``, ``data_prep.line_image``, ...); this
package imports nothing heavy so that light tools stay quick to start.
"""
