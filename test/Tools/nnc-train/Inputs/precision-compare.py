# Reads two nnc-train logs (f32, bf16) for precision-bf16.test: the last
# epoch's training accuracy and the final test accuracy of each.
import re
import sys

def accuracies(path):
    text = open(path).read()
    train = re.findall(r"train loss [0-9.]+ acc +([0-9.]+)%", text)[-1]
    test = re.search(r"test accuracy ([0-9.]+)%", text).group(1)
    return float(train), float(test)

f32, bf16 = accuracies(sys.argv[1]), accuracies(sys.argv[2])
print("f32: train %.2f%% test %.2f%%; bf16: train %.2f%% test %.2f%%" %
      (f32 + bf16))
print("train accuracy bf16 above 80%%: %s" % (bf16[0] > 80))
print("test accuracy within 0.3 points: %s" % (abs(f32[1] - bf16[1]) <= 0.3))
