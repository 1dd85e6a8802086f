"""WordPress updates on the controller: which package version each item may take (``policy``)
and the before/after page checks with their screenshots compared by pixel (``visual``). The
role roles/wordpress_update calls both through its modules delegated to the controller."""
