"""The exchange's rules with no Flask and no I/O: its enums, the delivery lifecycle graph
with the edXML codes, who a caller is, the agency code form and the API's time format."""
