// Exposes LiveChat's official customer SDK, unchanged, as window.CustomerSDK (bundled by esbuild; see package.json).
import * as CustomerSDK from "@livechat/customer-sdk";

window.CustomerSDK = CustomerSDK;
