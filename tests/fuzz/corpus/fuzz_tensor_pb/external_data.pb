Bxj
locationweights.binj
offset16j
length32p