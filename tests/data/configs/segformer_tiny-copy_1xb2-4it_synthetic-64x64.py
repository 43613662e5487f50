# The same model as the tiny SegFormer under another name.
_base_ = './segformer_tiny_synthetic.py'
