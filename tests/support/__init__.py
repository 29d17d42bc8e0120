"""Helpers the tests share: tiny-frame builders (`features_kit`) and frame equality (`frames`)."""
