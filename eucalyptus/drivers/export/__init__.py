"""Export drivers of the storage controller (see ``base`` for the contract); ``nbd`` serves
each volume with its own qemu-storage-daemon."""
