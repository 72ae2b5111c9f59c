"""The bidirectional LSTM stack that reads every modality's frames.

The weights always live in stock Keras ``Bidirectional(LSTM)`` sub-layers, so a bundle's
``model.weights.h5`` has the standard layout whichever implementation computed with them.
"""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="recognizer")
class BiLSTMStack(keras.layers.Layer):
    """``num_layers`` bidirectional LSTMs of ``units`` per direction, outputs concatenated.

    Call with ``(inputs (B, T, F), mask (B, T) bool)``; padded steps (mask False) never influence
    valid steps, in either direction, so a padded input gives the same output as the unpadded one.
    """

    def __init__(self, units: int, num_layers: int, dropout: float = 0.0, implementation: str = "auto", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.implementation = implementation
        self.layers_ = [
            keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True), name=f"bilstm_{i}")
            for i in range(num_layers)
        ]
        self.drop = keras.layers.Dropout(dropout) if dropout > 0 else None

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers_:
            layer.build(shape)
            shape = shape[:-1] + (2 * self.units,)
        self.built = True

    def call(self, inputs, mask=None, training=False):
        x = inputs
        for i, layer in enumerate(self.layers_):
            x = layer(x, mask=mask, training=training)
            if self.drop is not None and i < self.num_layers - 1:
                x = self.drop(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2 * self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_layers": self.num_layers, "dropout": self.dropout,
                "implementation": self.implementation}
