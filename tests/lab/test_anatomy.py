from types import SimpleNamespace

from deepenough.lab import anatomy, tiny


def test_serial_depth_of_a_smollm_shaped_config():
    steps = anatomy.serial_depth(SimpleNamespace(num_hidden_layers=30))
    assert steps == {"layers": 30, "sublayers": 60, "nonlinearities": 60, "norms": 61,
                     "nonlinear_steps": 121, "matmuls": 181}


def test_parameter_groups_add_up_and_count_tied_weights_once():
    model = tiny.llama(vocab=50, d_model=32, depth=2, heads=4, ff_mult=4)
    groups = anatomy.parameter_groups(model)
    assert sum(groups.values()) == tiny.count_params(model)
    assert groups["embedding"] == 50 * 32  # tied with the output layer
    assert groups["ffn"] == 2 * 3 * 32 * 128  # gate, up, down per layer
    assert groups["attention"] == 2 * 4 * 32 * 32


def test_layer_shapes_reads_one_decoder_layer():
    shapes = dict(anatomy.layer_shapes(tiny.llama(vocab=50, d_model=32, depth=2)))
    assert shapes["mlp.gate_proj.weight"] == (128, 32) and shapes["mlp.down_proj.weight"] == (32, 128)
