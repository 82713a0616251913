"""edXML (QCVN 102:2016/BTTTT), the national document exchange format: the package's data
(``model``), building it (``build``), reading it safely (``parse``) and checking its
envelope's XML signature (``envelope``). No database and no Flask: the services map these
packages to documents and deliveries."""
