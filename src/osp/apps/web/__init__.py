"""The browser faces of a node: the web app served on the control listener at ``/``, and
the share listener (share pages that play a track over WebTorrent, and the node's
WebTorrent tracker).  Assets ship inside the package (``static/``): no npm at run time."""
